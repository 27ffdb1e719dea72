"""Tabletop exercises: a playbook on a virtual clock, scripted injects, scored afterwards."""
