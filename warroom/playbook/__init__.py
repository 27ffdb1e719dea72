"""Playbooks: the YAML a crisis team agrees on before the crisis, compiled for the engine."""
