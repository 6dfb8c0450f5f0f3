"""Shopping carts: persisted in the database, keyed by a cookie, one cart per store per browser."""
