"""What every HTTP route shares: dependencies, body reading, the registration of a model
route at its plain and versioned paths, and the Prometheus scrape."""
