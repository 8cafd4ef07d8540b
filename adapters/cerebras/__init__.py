"""The Cerebras path: the reference's Estimator contract for Cerebras' own software stack."""
