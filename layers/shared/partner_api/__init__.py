"""Partner Management API: the shared layer (models, auth, data access, HTTP glue).

Dependencies point one way: ``http`` -> ``auth``/``logic`` -> ``store`` -> boto3.
"""
