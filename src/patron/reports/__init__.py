"""Read models that summarise an org's activity over time (the console's dashboard)."""
