"""Running the template without AWS or Docker: moto resources and in-process functions."""
