"""Fracture of electrode particles (physics M5): onset criteria, phase-field cracks, fatigue.

Everything here works on stress fields and meshes; it knows neither the command line nor case files.
"""
