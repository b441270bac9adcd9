"""Staff accounts, roles, sessions and login: who may see which page."""
