"""Oxygen-vacancy diffusion in primary particles (M1), the lamella measurement model, and D_O fitting."""
