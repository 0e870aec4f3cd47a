"""galcat models: pure science (networks, mocks, metrics); arrays in, arrays out."""
