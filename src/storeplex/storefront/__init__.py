"""The storefront JSON API: catalog, cart, checkout and order status for shoppers."""
