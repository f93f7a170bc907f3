"""The emulated Lightsail endpoint: authenticate, validate, authorize, act — each a step."""
