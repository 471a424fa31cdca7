"""Li transport with Butler–Volmer kinetics (M2) and diffusion-induced stress (M3) in secondary particles."""
