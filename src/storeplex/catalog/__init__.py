"""The catalog: products that store staff manage."""
