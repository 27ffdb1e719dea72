"""The roster: people, contact groups, on-call rotas, and who may fill a role when. Pure."""
