"""What training and the service share: settings, the manifest format, datasets, the database."""
