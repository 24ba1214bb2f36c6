"""One module per framework, both directions; each imports its framework lazily."""
