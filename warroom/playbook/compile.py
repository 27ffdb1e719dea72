"""From a validated playbook file to a `Playbook`: every reference, cycle and template checked.

Checks here are about meaning (does `legal` exist, do the steps form a cycle, does the Polish
SMS fit in two segments); pydantic has already checked shape. Everything found is reported
together, each with the position of the offending value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from warroom.durations import format_duration
from warroom.errors import Diagnostic
from warroom.playbook import templates
from warroom.playbook.claims import uncontrolled_claims
from warroom.playbook.model import (
    DEFAULT_ANSWER_WITHIN,
    KEY_MESSAGES,
    NEXT_AUDIENCE_WAITS_AT_MOST,
    NEXT_CANDIDATE,
    QA,
    Action,
    Audience,
    CandidateTier,
    Escalation,
    Fact,
    Level,
    MediaDesk,
    Playbook,
    PressConference,
    PressContact,
    Role,
    Statement,
    Step,
    Trigger,
)
from warroom.playbook.schema import (
    CandidateTierSpec,
    FactSpec,
    PlaybookSpec,
    RoleSpec,
    StatementSpec,
    StepSpec,
)
from warroom.playbook.segments import count_segments
from warroom.specs import Findings, one_of, validate_source
from warroom.yamlsource import PathKey, Source

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
"""Prometheus label names: what an Alertmanager trigger's `match` keys must be."""

_SENT_BY = {"alertmanager": "an Alertmanager alert", "pagerduty": "a PagerDuty event"}

ASSUMED_FACT_LENGTH = 60
"""Length assumed for a fact with neither max_length nor default when sizing an SMS."""
ASSUMED_NAME_LENGTH = 40
WORST_CHARACTER = "ż"
"""Facts are filled with a non-GSM character: one `ł` in a company name makes it UCS-2."""


def longest_context(
    playbook: templates.PlaybookCard,
    *,
    timezone: str,
    language: str,
    levels: Sequence[tuple[str, str]],
    facts: Mapping[str, tuple[int | None, str | None]],
    roles: Mapping[str, str],
    fill: str = WORST_CHARACTER,
    worded: Mapping[str, int] | None = None,
) -> dict[str, object]:
    """A rendering context with every variable at its longest, for budgets and dry runs.

    Shared by validation (SMS sizing) and the library's proofs (`scripts/render-library`),
    so the texts a reviewer reads at their longest are the ones validation sized. `facts`
    maps each fact to its (max_length, default); `roles` each role to its title; `worded`
    each boolean or choice fact to the length of its longest words: said, and sized at its
    worst, in every branch.
    """
    started = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    context: dict[str, object] = {
        "incident": templates.IncidentCard("x" * 24, playbook.title, started),
        "playbook": playbook,
        "level": max((level_id for level_id, _ in levels), key=len),
        "level_title": max((title for _, title in levels), key=len),
        "language": language,
        "audience": fill * ASSUMED_NAME_LENGTH,
        "now": started,
        "next_update_at": started + timedelta(hours=2),
        "statement": templates.StatementCard(1, False),
        "timezone": timezone,
    }
    for name, (max_length, default) in facts.items():
        if worded and name in worded:
            context[name] = templates.FactText(fill * worded[name], "true")
            continue
        length = max_length or (len(default) if default else 0)
        context[name] = fill * (length or ASSUMED_FACT_LENGTH)
    for name, title in roles.items():
        context[name] = templates.ContactCard(
            name=fill * ASSUMED_NAME_LENGTH,
            title=title,
            phone="+48600100200",
            email="x" * ASSUMED_NAME_LENGTH,
        )
    return context


class _Worded(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def choices(self) -> Mapping[str, Mapping[str, str]]: ...


def worded_facts(facts: Mapping[str, _Worded]) -> dict[str, int]:
    """Boolean and choice facts, each with the length of the longest words it may say."""
    return {
        name: max((len(t) for c in f.choices.values() for t in c.values()), default=5)
        for name, f in facts.items()
        if f.kind in ("boolean", "choice")
    }


def compile_playbook(source: Source) -> tuple[Playbook, list[Diagnostic]]:
    """Validate and compile one playbook file; returns it with its warnings, or raises."""
    spec = validate_source(PlaybookSpec, source)
    found = Findings(source)
    playbook = _Compiler(spec, found).compile()
    found.raise_if_errors()
    return playbook, found.items


def longest_value(max_length: int | None, default: str | None, fill: str) -> str:
    """A fact at its longest, for sizing: `max_length` characters, else as long as its
    default, else an assumed length. The SMS budgets and the engine's own texts
    (`warroom.engine.sizing`) are both checked with it."""
    length = max_length or (len(default) if default else 0)
    return fill * (length or ASSUMED_FACT_LENGTH)


class _Compiler:
    def __init__(self, spec: PlaybookSpec, found: Findings) -> None:
        self.spec = spec
        self.found = found
        self.levels = [level.id for level in spec.levels]
        self.step_ids = [step.id for step in spec.steps]
        self.used_facts: set[str] = set()

    # -- top level ------------------------------------------------------------------------

    def compile(self) -> Playbook:
        spec = self.spec
        self._unique(self.levels, "levels", "level")
        self._unique(self.step_ids, "steps", "step")
        default_level = spec.default_level or self.levels[0]
        self.found.ref("level", spec.default_level, self.levels, ("default_level",))
        self._check_names()
        roles = {name: self._role(name, role) for name, role in spec.roles.items()}
        audiences = {aid: self._audience(aid) for aid in spec.audiences}
        sms_statements = {
            step.send
            for step in spec.steps
            for aid in step.to
            if step.send and "sms" in getattr(spec.audiences.get(aid), "channels", ())
        }
        statements = {
            sid: self._statement(sid, st, sid in sms_statements)
            for sid, st in spec.statements.items()
        }
        desk = self._media_desk()
        statements.update(self._media_statements(desk))
        steps = tuple(self._step(i, step) for i, step in enumerate(spec.steps))
        if len(set(self.step_ids)) == len(self.step_ids):  # with duplicates the graph is moot
            self._check_graph()
        triggers = tuple(self._trigger(i) for i in range(len(spec.triggers)))
        self._unused()
        self._unconfirmed_raises()
        return Playbook(
            id=spec.playbook,
            title=spec.title,
            version=spec.version,
            summary=spec.summary.strip(),
            timezone=spec.timezone,
            languages=tuple(spec.languages),
            levels=tuple(
                Level(level.id, level.title, rank, level.description.strip())
                for rank, level in enumerate(spec.levels)
            ),
            default_level=default_level if default_level in self.levels else self.levels[0],
            facts={
                name: Fact(
                    name,
                    f.required,
                    f.max_length,
                    f.default,
                    f.kind,
                    f.description,
                    _choices(f.kind, f.choices),
                )
                for name, f in spec.facts.items()
            },
            roles=roles,
            audiences=audiences,
            statements=statements,
            steps=steps,
            triggers=triggers,
            file=self.found.source.file,
            on_behalf=spec.approvals.on_behalf == "allowed",
            media_desk=desk,
        )

    def _fact_choices(self, name: str, fact: FactSpec) -> None:
        """A yes-or-no or a choice fact: every choice in every language, the default one of them."""
        path: PathKey = ("facts", name)
        choices = _choices(fact.kind, fact.choices)
        if fact.choices and fact.kind not in ("boolean", "choice"):
            self.found.error(
                (*path, "choices"), f"a {fact.kind} fact has no choices; give kind: choice"
            )
            return
        if fact.kind == "choice" and not choices:
            self.found.error(path, "a choice fact needs `choices:`, the words for each value")
        if fact.kind == "boolean" and choices and set(choices) != {"true", "false"}:
            self.found.error(
                (*path, "choices"),
                "a boolean fact's choices are `true` and `false`, each with its words",
            )
        for value, texts in fact.choices.items():
            self._languages(texts, (*path, "choices", value))
        if fact.default is None:
            return
        if fact.kind == "boolean" and fact.default.lower() not in ("true", "false"):
            self.found.error((*path, "default"), f"{fact.default!r} is not true or false")
        if fact.kind == "choice" and choices and fact.default not in choices:
            self.found.error(
                (*path, "default"),
                f"{fact.default!r} is not one of its choices (expected one of: "
                f"{', '.join(choices)})",
            )

    def _unique(self, ids: list[str], where: str, kind: str) -> None:
        for i, value in enumerate(ids):
            if value in ids[:i]:
                self.found.error(
                    (where, i, "id"),
                    f"duplicate {kind} id {value!r} (first used at {where}[{ids.index(value)}])",
                )

    def _check_names(self) -> None:
        reserved = set(templates.BUILTINS)
        for name in self.spec.facts:
            if name in reserved:
                self.found.error(
                    ("facts", name), f"fact {name!r} would hide the built-in variable", at_key=True
                )
            if name in self.spec.roles:
                self.found.error(
                    ("facts", name), f"fact {name!r} has the name of a role", at_key=True
                )
            fact = self.spec.facts[name]
            self._fact_choices(name, fact)
            if fact.default is not None and fact.max_length and len(fact.default) > fact.max_length:
                self.found.error(
                    ("facts", name, "default"),
                    f"default is {len(fact.default)} characters, over max_length {fact.max_length}",
                )
        for name in self.spec.roles:
            if name in reserved:
                self.found.error(
                    ("roles", name), f"role {name!r} would hide the built-in variable", at_key=True
                )

    # -- roles and audiences --------------------------------------------------------------

    def _role(self, name: str, role: RoleSpec) -> Role:
        path: PathKey = ("roles", name)
        tiers_written = [c for c in role.candidates if isinstance(c, CandidateTierSpec)]
        if tiers_written and len(tiers_written) != len(role.candidates):
            self.found.error(
                (*path, "candidates"),
                "mixes person selectors and {from_level, pick} tiers; write either a list of "
                "selectors or a list of tiers",
            )
        if tiers_written:
            tiers = tuple(CandidateTier(t.from_level, tuple(t.pick)) for t in tiers_written)
        else:
            tiers = (CandidateTier(None, tuple(c for c in role.candidates if isinstance(c, str))),)
        for i, tier in enumerate(tiers):
            tier_path = (*path, "candidates", i) if tiers_written else (*path, "candidates")
            self.found.ref("level", tier.from_level, self.levels, (*tier_path, "from_level"))
            for selector in tier.pick:
                if selector.startswith("role:"):
                    self.found.error(
                        tier_path, f"{selector!r}: a role is filled from people, not from a role"
                    )
        mixed = len(tiers_written) != len(role.candidates)
        if tiers_written and not mixed and all(t.from_level for t in tiers):
            self.found.error(
                (*path, "candidates"),
                "every tier has from_level, so nobody fills the role at the lowest level; "
                "add a tier without from_level",
            )
        allowed = {*self.spec.facts, "language"}
        for key, values in (("speaks", role.speaks), ("exclude", role.exclude)):
            for i, value in enumerate(values):
                if "{" in value:
                    self._template(value, allowed, (*path, key, i))
                elif key == "speaks" and value not in self.spec.languages:
                    self.found.error(
                        (*path, key, i),
                        f"{value!r} is not one of the playbook's languages "
                        f"({', '.join(self.spec.languages)})",
                    )
        return Role(
            id=name,
            title=role.title,
            tiers=tiers,
            require_tags=tuple(role.require_tags),
            speaks=tuple(role.speaks),
            exclude=tuple(role.exclude),
            description=role.description.strip(),
            confirms_level=role.confirms_level,
        )

    def _audience(self, aid: str) -> Audience:
        spec = self.spec.audiences[aid]
        path: PathKey = ("audiences", aid)
        for i, role in enumerate(spec.roles):
            self.found.ref("role", role, self.spec.roles, (*path, "roles", i))
        self.found.ref("level", spec.from_level, self.levels, (*path, "from_level"))
        if spec.language is not None and spec.language not in self.spec.languages:
            self.found.error(
                (*path, "language"),
                f"language {spec.language!r} is not one the playbook declares "
                f"({one_of(self.spec.languages)})",
            )
        for i, selector in enumerate(spec.people):
            if selector.startswith("role:"):
                self.found.error(
                    (*path, "people", i), f"{selector!r}: list roles under `roles:`, not people"
                )
        if not (spec.roles or spec.groups or spec.people or spec.contacts):
            self.found.error(
                path,
                "audience has nobody in it; give roles, groups or people, or `contacts: "
                "at_release` for a list loaded during the incident",
            )
        return Audience(
            id=aid,
            title=spec.title or aid.replace("-", " ").capitalize(),
            roles=tuple(spec.roles),
            groups=tuple(spec.groups),
            people=tuple(spec.people),
            channels=tuple(dict.fromkeys(spec.channels)),
            language=spec.language,
            from_level=spec.from_level,
            internal=spec.internal,
            reply_to=spec.reply_to or "",
            contacts_at_release=spec.contacts == "at_release",
        )

    # -- statements -----------------------------------------------------------------------

    def _statement(self, sid: str, spec: StatementSpec, by_sms: bool) -> Statement:
        path: PathKey = ("statements", sid)
        owner = spec.owner or next(iter(self.spec.roles), None)
        self.found.ref("role", spec.owner, self.spec.roles, (*path, "owner"))
        for i, role in enumerate(spec.approve):
            self.found.ref("role", role, self.spec.roles, (*path, "approve", i))
        allowed = {*self.spec.facts, *self.spec.roles, *templates.BUILTINS}
        for part in ("subject", "text", "sms"):
            texts: dict[str, str] = getattr(spec, part)
            if not texts and part != "text":
                continue
            for lang in self.spec.languages:
                if lang not in texts:
                    self.found.error(
                        (*path, part),
                        f"missing language {lang!r} (the playbook declares "
                        f"{', '.join(self.spec.languages)})",
                    )
            for lang, source in texts.items():
                if lang not in self.spec.languages:
                    self.found.error(
                        (*path, part, lang),
                        f"language {lang!r} is not declared in the playbook's languages",
                        at_key=True,
                    )
                    continue
                checked = self._template(source, allowed, (*path, part, lang))
                if checked:
                    self._claims(source, lang, (*path, part, lang))
                is_sms = part == "sms" or (part == "text" and lang not in spec.sms)
                if checked and by_sms and is_sms:
                    self._sms_budget(source, spec, (*path, part, lang))
        if owner is not None and spec.approve and set(spec.approve) == {owner}:
            self.found.warn(
                (*path, "approve"),
                f"approved only by {owner!r}, the role that drafts it (owner): nobody else "
                "reads it before it goes out; add a second approver",
            )
        return Statement(
            id=sid,
            title=spec.title or sid.replace("-", " ").capitalize(),
            owner=owner,
            approvers=tuple(dict.fromkeys(spec.approve)),
            subject=dict(spec.subject),
            text={lang: text.strip() for lang, text in spec.text.items()},
            sms={lang: text.strip() for lang, text in spec.sms.items()},
            sms_max_segments=spec.sms_max_segments,
        )

    def _template(self, source: str, allowed: Collection[str], path: PathKey) -> bool:
        """Check one template's syntax and variables, then render it once with samples."""
        try:
            used = templates.variables(source)
        except templates.TemplateProblem as exc:
            self.found.error(path, str(exc))
            return False
        self.used_facts |= used
        unknown = sorted(used - set(allowed))
        for name in unknown:
            close = difflib.get_close_matches(name, list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.found.error(
                path,
                f"uses {{{{ {name} }}}}, which is not a declared fact, role or built-in{hint} "
                f"(facts: {one_of(self.spec.facts)})",
            )
        if unknown:
            return False
        try:
            templates.render(source, self._sample("x"))
            # as drafted: times known only at release can be printed, nothing more
            templates.render(source, self._sample("x") | templates.at_release_context())
        except templates.TemplateProblem as exc:
            self.found.error(path, str(exc))
            return False
        return True

    def _claims(self, source: str, language: str, path: PathKey) -> None:
        """A claim about the incident written as fixed text goes out in every incident."""
        for claim in uncontrolled_claims(source, language, self.spec.facts):
            where = f" on its line {claim.line}" if "\n" in source.strip() else ""
            self.found.warn(
                path,
                f"asserts {claim.phrase!r}{where}, which no fact controls: make it a fact the "
                "team sets (kind: boolean or choice, with words per language) or say it under "
                "{% if FACT %}",
            )

    def _sms_budget(self, source: str, spec: StatementSpec, path: PathKey) -> None:
        for name in sorted(templates.variables(source) & set(self.spec.facts)):
            fact = self.spec.facts[name]
            if fact.max_length is None and fact.kind not in ("boolean", "choice"):
                assumed = len(fact.default) if fact.default else ASSUMED_FACT_LENGTH
                self.found.warn(
                    path,
                    f"fact {name!r} has no max_length, so this SMS is sized assuming "
                    f"{assumed} characters; set max_length to be sure it fits",
                )
        text = templates.render(source, self._sample(WORST_CHARACTER))
        count = count_segments(text)
        if count.segments > spec.sms_max_segments:
            self.found.error(
                path,
                f"SMS needs up to {count} with every fact at its longest, over "
                f"sms_max_segments {spec.sms_max_segments}; shorten it or write a shorter "
                "`sms:` version",
            )

    def _sample(self, fill: str) -> dict[str, object]:
        spec = self.spec
        return longest_context(
            templates.PlaybookCard(spec.playbook, spec.title, spec.version),
            timezone=spec.timezone,
            language=spec.languages[0],
            levels=[(level.id, level.title) for level in spec.levels],
            facts={name: (f.max_length, f.default) for name, f in spec.facts.items()},
            roles={name: role.title for name, role in spec.roles.items()},
            fill=fill,
            worded=worded_facts(spec.facts),
        )

    # -- the media desk -------------------------------------------------------------------

    def _media_desk(self) -> MediaDesk:
        spec = self.spec
        desk = spec.media_desk
        path: PathKey = ("media_desk",)
        self.found.ref("role", desk.owner, spec.roles, (*path, "owner"))
        owner = desk.owner or ("spokesperson" if "spokesperson" in spec.roles else None)
        for i, role in enumerate(desk.approve):
            self.found.ref("role", role, spec.roles, (*path, "approve", i))
        approve = tuple(dict.fromkeys(desk.approve)) or ((owner,) if owner else ())
        if (spec.qa or spec.key_messages) and not approve:
            self.found.error(
                path, "Q&A and key messages need approvers: give media_desk.approve roles"
            )
        ids = [entry.id for entry in spec.qa]
        self._unique(ids, "qa", "Q&A")
        qa = {}
        for i, entry in enumerate(spec.qa):
            for part in ("question", "answer"):
                self._languages(getattr(entry, part), ("qa", i, part))
            for j, name in enumerate(entry.facts):
                self.found.ref("fact", name, spec.facts, ("qa", i, "facts", j))
            qa[entry.id] = QA(entry.id, dict(entry.question), tuple(entry.facts))
        if spec.key_messages:
            self._languages(spec.key_messages, ("key_messages",))
            if KEY_MESSAGES in spec.statements:
                self.found.error(
                    ("statements", KEY_MESSAGES),
                    f"statement id {KEY_MESSAGES!r} is taken by the playbook's key_messages",
                    at_key=True,
                )
        for lang in spec.do_not_say:
            if lang not in spec.languages:
                self.found.error(
                    ("do_not_say", lang),
                    f"language {lang!r} is not declared in the playbook's languages",
                    at_key=True,
                )
        return MediaDesk(
            owner=owner,
            answer_within=desk.answer_within or DEFAULT_ANSWER_WITHIN,
            approve=approve,
            qa=qa,
            do_not_say={lang: tuple(lines) for lang, lines in spec.do_not_say.items()},
            press_contacts=tuple(
                PressContact(c.name, c.phone, c.email, c.title) for c in spec.press_contacts
            ),
            dateline=desk.dateline.strip(),
        )

    def _languages(self, texts: dict[str, str], path: PathKey) -> None:
        """Every declared language, and no other: a journalist is answered in theirs."""
        for lang in self.spec.languages:
            if lang not in texts:
                self.found.error(
                    path,
                    f"missing language {lang!r} (the playbook declares "
                    f"{', '.join(self.spec.languages)})",
                )
        for lang in texts:
            if lang not in self.spec.languages:
                self.found.error(
                    (*path, lang),
                    f"language {lang!r} is not declared in the playbook's languages",
                    at_key=True,
                )

    def _media_statements(self, desk: MediaDesk) -> dict[str, Statement]:
        """Q&A answers and key messages as statements, so approval, four eyes, frozen
        versions and redrafting on a fact change are the statements' own, not a copy."""
        allowed = {*self.spec.facts, *self.spec.roles, *templates.BUILTINS}
        texts: dict[str, tuple[str, dict[str, str], PathKey]] = {}
        if self.spec.key_messages:
            texts[KEY_MESSAGES] = ("Key messages", self.spec.key_messages, ("key_messages",))
        for i, entry in enumerate(self.spec.qa):
            texts[f"qa:{entry.id}"] = (f"Q&A {entry.id}", entry.answer, ("qa", i, "answer"))
        statements = {}
        for sid, (title, text, path) in texts.items():
            for lang, source in text.items():
                if lang in self.spec.languages and self._template(source, allowed, (*path, lang)):
                    self._claims(source, lang, (*path, lang))
            statements[sid] = Statement(
                id=sid,
                title=title,
                owner=desk.owner,
                approvers=desk.approve,
                subject={},
                text={lang: value.strip() for lang, value in text.items()},
                sms={},
                sms_max_segments=10,
                media=True,
            )
        return statements

    # -- steps ----------------------------------------------------------------------------

    def _step(self, index: int, spec: StepSpec) -> Step:
        path: PathKey = ("steps", index)
        ref = self.found.ref
        for i, dep in enumerate(spec.after):
            if ref("step", dep, self.step_ids, (*path, "after", i)) and dep == spec.id:
                self.found.error((*path, "after", i), "a step cannot wait for itself")
        ref("level", spec.from_level, self.levels, (*path, "from_level"))
        actions = [a for a in Action if getattr(spec, a.value)]
        if len(actions) != 1:
            written = " and ".join(a.value for a in actions)
            self.found.error(
                path,
                f"a step does one thing: page, approve or send (found {written})"
                if actions
                else "step does nothing; give it page, approve or send",
            )
        action = actions[0] if actions else Action.PAGE
        for i, aid in enumerate(spec.page):
            ref("audience", aid, self.spec.audiences, (*path, "page", i))
        approves = spec.approve is not None and ref(
            "statement", spec.approve, self.spec.statements, (*path, "approve")
        )
        if approves and not self.spec.statements[str(spec.approve)].approve:
            self.found.error(
                (*path, "approve"),
                f"statement {spec.approve!r} lists no approvers; add `approve:` roles to it",
            )
        ref("statement", spec.send, self.spec.statements, (*path, "send"))
        for i, aid in enumerate(spec.to):
            ref("audience", aid, self.spec.audiences, (*path, "to", i))
        for i, name in enumerate(spec.requires_facts):
            ref("fact", name, self.spec.facts, (*path, "requires_facts", i))
        self._step_options(path, spec, action)
        return Step(
            id=spec.id,
            title=spec.title or spec.id.replace("-", " ").capitalize(),
            action=action,
            after=tuple(spec.after),
            from_level=spec.from_level,
            page=tuple(spec.page),
            ack_within=spec.ack_within,
            escalations=tuple(self._escalation(path, i) for i in range(len(spec.escalate))),
            statement=spec.approve or spec.send,
            to=tuple(spec.to),
            due=spec.due,
            every=spec.every,
            press_conference=self._press_conference(path, spec),
            hold=spec.hold,
            requires_facts=tuple(dict.fromkeys(spec.requires_facts)),
            on_resolve=spec.on_resolve,
        )

    def _press_conference(self, path: PathKey, spec: StepSpec) -> PressConference | None:
        conference = spec.press_conference
        if conference is None:
            return None
        where: PathKey = (*path, "press_conference")
        for i, role in enumerate(conference.speakers):
            self.found.ref("role", role, self.spec.roles, (*where, "speakers", i))
        if not (conference.place.strip() or conference.link.strip()):
            self.found.error(where, "a press conference needs a `place` or a `link`")
        return PressConference(
            conference.at,
            tuple(dict.fromkeys(conference.speakers)),
            conference.place.strip(),
            conference.link.strip(),
        )

    def _step_options(self, path: PathKey, spec: StepSpec, action: Action) -> None:
        """Options that only make sense for one kind of step."""
        misplaced = {
            "to": action is not Action.SEND and bool(spec.to),
            "every": action is not Action.SEND and spec.every is not None,
            "hold": action is not Action.SEND and spec.hold is not None,
            "on_resolve": action is not Action.SEND and spec.on_resolve,
            "ack_within": action is not Action.PAGE and spec.ack_within is not None,
            "escalate": action is not Action.PAGE and bool(spec.escalate),
            "press_conference": action is not Action.PAGE and spec.press_conference is not None,
        }
        for key, wrong in misplaced.items():
            if wrong:
                self.found.error(
                    (*path, key), f"{key!r} does not apply to a step that does {action.value}"
                )
        if action is Action.SEND and spec.send and not spec.to:
            self.found.error(path, "a send step needs `to:`, the audiences in release order")
        if action is Action.SEND and spec.on_resolve:
            for key in ("after", "every", "due", "requires_facts"):
                if getattr(spec, key):
                    self.found.error(
                        (*path, key),
                        f"a closing message (on_resolve) goes when the incident is resolved; "
                        f"{key!r} does not apply to it",
                    )
        if action is Action.SEND and spec.hold is not None:
            if not spec.hold:
                self.found.error((*path, "hold"), "a hold of 0 keeps nobody apart; leave it out")
            elif spec.hold > NEXT_AUDIENCE_WAITS_AT_MOST:
                self.found.error(
                    (*path, "hold"),
                    f"{format_duration(spec.hold)} is longer than the "
                    f"{format_duration(NEXT_AUDIENCE_WAITS_AT_MOST)} the next audience waits at "
                    "most; give at most that",
                )
            elif len(spec.to) < 2:
                self.found.error(
                    (*path, "hold"), "`hold` keeps audiences apart; this step sends to one"
                )
        if spec.send:
            statement = self.spec.statements.get(spec.send)
            rank = {level.id: i for i, level in enumerate(self.spec.levels)}
            here = rank.get(spec.from_level or "", -1)
            approvers = [s for s in self.spec.steps if s.approve == spec.send]
            reachable = [s for s in approvers if rank.get(s.from_level or "", -1) <= here]
            if statement is not None and statement.approve and not reachable:
                where = (
                    f"only from level {approvers[0].from_level!r}" if approvers else "in no step"
                )
                self.found.error(
                    (*path, "send"),
                    f"statement {spec.send!r} needs approval by "
                    f"{', '.join(statement.approve)}, but it is approved {where}",
                )

    def _escalation(self, step_path: PathKey, index: int) -> Escalation:
        step = self.spec.steps[step_path[1]]  # type: ignore[index]
        rung = step.escalate[index]
        path: PathKey = (*step_path, "escalate", index)
        self.found.ref("level", rung.raise_level, self.levels, (*path, "raise_level"))
        if not (rung.page or rung.raise_level or rung.repeat):
            self.found.error(path, "escalation does nothing; give page, raise_level or repeat")
        if index and rung.after <= step.escalate[index - 1].after:
            self.found.error(
                (*path, "after"), "escalations must come in order of `after`, each later"
            )
        if rung.repeat is not None and index != len(step.escalate) - 1:
            self.found.error((*path, "repeat"), "`repeat` belongs on the last escalation only")
        for i, selector in enumerate(rung.page):
            if selector.startswith("role:"):
                self.found.ref("role", selector[5:], self.spec.roles, (*path, "page", i))
        return Escalation(
            after=rung.after,
            page=tuple(s for s in rung.page if s != NEXT_CANDIDATE),
            next_candidate=NEXT_CANDIDATE in rung.page,
            raise_level=rung.raise_level,
            repeat=rung.repeat,
        )

    def _check_graph(self) -> None:
        steps = {s.id: s for s in self.spec.steps}
        rank = {level: i for i, level in enumerate(self.levels)}
        for index, step in enumerate(self.spec.steps):
            for i, dep in enumerate(step.after):
                if dep in steps and steps[dep].on_resolve:
                    self.found.error(
                        ("steps", index, "after", i),
                        f"waits for {dep!r}, a closing message sent only when the incident is "
                        "resolved, so this step would never start",
                    )
                needed = steps[dep].from_level if dep in steps else None
                if needed in rank and rank[needed] > rank.get(step.from_level or "", -1):
                    self.found.error(
                        ("steps", index, "after", i),
                        f"waits for {dep!r}, which exists only from level {needed!r}, so below "
                        "that level this step would never start",
                    )
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(sid: str, trail: list[str]) -> None:
            if state.get(sid) == 2 or sid not in steps:
                return
            if state.get(sid) == 1:
                cycle = [*trail[trail.index(sid) :], sid]
                self.found.error(
                    ("steps", self.step_ids.index(sid), "after"),
                    f"steps wait for each other in a cycle: {' -> '.join(cycle)}",
                )
                return
            state[sid] = 1
            for dep in steps[sid].after:
                if dep != sid:  # waiting for itself is reported on its own
                    visit(dep, [*trail, sid])
            state[sid] = 2

        for sid in steps:
            visit(sid, [])

    def _trigger(self, index: int) -> Trigger:
        spec = self.spec.triggers[index]
        path: PathKey = ("triggers", index)
        self.found.ref("level", spec.level, self.levels, (*path, "level"))
        for key in spec.match:
            self._match_key(spec.source, key, (*path, "match", key))
        for name, source in spec.facts.items():
            self.found.ref("fact", name, self.spec.facts, (*path, "facts", name))
            self._trigger_template(spec.source, source, (*path, "facts", name))
        if spec.dedupe is not None:
            self._trigger_template(spec.source, spec.dedupe, (*path, "dedupe"))
        for name, fact in self.spec.facts.items():
            if fact.required and fact.default is None and name not in spec.facts:
                self.found.warn(
                    path,
                    f"does not fill required fact {name!r}, so "
                    + (
                        "an alert cannot start the incident (a "
                        f"{fact.kind} fact has no stand-in); add it to `facts:`"
                        if fact.kind in ("person", "number")
                        else "every alert starts the incident with it as '(not in alert)' "
                        "for a person to fill in; add it to `facts:`"
                    ),
                )
        return Trigger(
            spec.source,
            dict(spec.match),
            spec.level,
            dict(spec.facts),
            spec.dedupe,
            spec.cooldown,
        )

    def _match_key(self, source: str, key: str, path: PathKey) -> None:
        """A `match` key that can never be in the payload would make the trigger dead."""
        if source == "alertmanager" and not LABEL_NAME.fullmatch(key):
            self.found.error(
                path,
                f"{key!r} is not an Alertmanager label name (expected a label such as "
                "alertname or severity: match reads the alert's labels, then commonLabels)",
                at_key=True,
            )
        roots = templates.TRIGGER_MATCH_ROOTS.get(source)
        if roots is not None and key.split(".")[0] not in roots:
            self.found.error(
                path,
                f"{key!r} is not in a PagerDuty v3 event; match keys are dotted paths into "
                f"the event, e.g. data.priority.summary (starting with one of: {one_of(roots)})",
                at_key=True,
            )

    def _trigger_template(self, source: str, text: str, path: PathKey) -> None:
        """Syntax, and for Alertmanager and PagerDuty the variables their payloads carry; a
        generic body's keys are not known in advance."""
        try:
            used = templates.variables(text)
        except templates.TemplateProblem as exc:
            self.found.error(path, str(exc))
            return
        known = templates.TRIGGER_VARIABLES.get(source)
        if known is None:
            return
        for name in sorted(used - known):
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            if name in templates.TRIGGER_MATCH_ROOTS.get(source, ()):
                hint = f"; it is a field of the event: write event.{name}"
            self.found.error(
                path,
                f"uses {{{{ {name} }}}}, which {_SENT_BY[source]} does not carry{hint} "
                f"(expected one of: {one_of(known)})",
            )

    def _unconfirmed_raises(self) -> None:
        """A rung that raises into a level with steps for outside audiences, and no role that
        can confirm it: those steps would wait forever, since silence never speaks."""
        spec = self.spec
        if any(role.confirms_level for role in spec.roles.values()):
            return
        rank = {level: i for i, level in enumerate(self.levels)}
        floor = rank.get(spec.default_level or self.levels[0], 0)
        sends = {s.send: s for s in spec.steps if s.send}

        def outside(step_to: list[str]) -> bool:
            return any(a in spec.audiences and not spec.audiences[a].internal for a in step_to)

        for i, step in enumerate(spec.steps):
            for j, rung in enumerate(step.escalate):
                level = rung.raise_level
                if level not in rank:
                    continue
                waiting = [
                    s.id
                    for s in spec.steps
                    if s.from_level in rank
                    and rank[s.from_level] <= rank[level]
                    and rank[s.from_level] > floor
                    and (outside(s.to) or (s.approve in sends and outside(sends[s.approve].to)))
                ]
                if waiting:
                    self.found.warn(
                        ("steps", i, "escalate", j, "raise_level"),
                        f"raises to {level!r}, whose steps for outside audiences "
                        f"({', '.join(waiting)}) wait until someone confirms the level, and no "
                        "role has `confirms_level: true`",
                    )

    def _unused(self) -> None:
        sent = {s.send for s in self.spec.steps} | {s.approve for s in self.spec.steps}
        for sid in self.spec.statements:
            if sid not in sent:
                self.found.warn(("statements", sid), "no step approves or sends this statement")
        used = {a for s in self.spec.steps for a in (*s.page, *s.to)}
        for aid in self.spec.audiences:
            if aid not in used:
                self.found.warn(("audiences", aid), "no step pages or sends to this audience")


def _choices(kind: str, choices: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Choices as the engine keys them: a boolean's `true`/`True` (YAML's spelling) is `true`."""
    return {
        (value.lower() if kind == "boolean" else value): {
            lang: " ".join(text.split()) for lang, text in texts.items()
        }
        for value, texts in choices.items()
    }
