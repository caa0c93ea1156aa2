"""Market monitoring: signals, tiered alerts worked by risk officers, responses, evaluations."""
