"""What every trial shares: configs, real-data loading, the fit loop, the judge, metrics, reporting and caches."""
