"""Training recipes (YAML), the recipe runner and the ``mtlzoo`` command line."""
