"""The Greater Amman Municipality e-services: one package per service, plus the shared runtime."""
