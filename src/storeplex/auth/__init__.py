"""Staff and admin login, logout, API tokens."""
