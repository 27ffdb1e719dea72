"""warroom: crisis communication playbook engine."""
