"""Server-rendered pages (Jinja2): the platform landing page and the storefront.

Pages call the same services as the JSON API; they hold no business rules.
"""
