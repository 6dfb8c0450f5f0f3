"""Orders: created at checkout, moved through fulfilment by staff, canceled with stock released."""
