"""Particle meshes: ideal particles from parameter sets, segmented images, users' meshes, synthetic microstructures.

Every mesh is a :class:`ParticleMesh` with the same boundary names (``outer``, ``void``, ``pore_<i>``,
``axis``, ``centre``; see :mod:`sim.mesh.particle`). Modules:

- :mod:`~sim.mesh.particle`: the mesh record, tags, quality, writing; gmsh on rank 0 → DOLFINx;
- :mod:`~sim.mesh.builders`: 1D radial, 2D axisymmetric, 3D voided and primary particles;
- :mod:`~sim.mesh.image`: segmented 3D volume → cavities → surfaces → tetrahedra (gmsh's step guarded by
  :mod:`~sim.mesh.gmsh_guard`: a child process with a time limit);
- :mod:`~sim.mesh.reader`: users' gmsh ``.msh``, STEP and STL files (:func:`read_mesh`);
- :mod:`~sim.mesh.microstructure`: seeded random pore packings;
- :mod:`~sim.mesh.reference`: ``meshes/reference.toml``; :mod:`~sim.mesh.cli`: ``sim mesh``, ``sim microstructure``;
- :mod:`~sim.mesh.plot`: PNG pictures.

Heavy imports (gmsh, DOLFINx, scikit-image) happen inside functions.
"""
from sim.mesh.builders import (GROWTH, KINDS, axisymmetric_mesh, check_axisymmetric, mesh_from_params,
                               particle_mesh_3d, primary_particle_mesh, radial_mesh)
from sim.mesh.cli import register, run
from sim.mesh.image import mesh_from_image
from sim.mesh.microstructure import microstructure_mesh, place_pores
from sim.mesh.particle import DOMAIN_TAG, PORE_TAG0, TAGS, ParticleMesh
from sim.mesh.reader import read_mesh
from sim.mesh.reference import REFERENCE_RECIPE, build_reference_meshes

__all__ = ["ParticleMesh", "TAGS", "PORE_TAG0", "DOMAIN_TAG", "GROWTH", "KINDS", "radial_mesh", "axisymmetric_mesh",
           "particle_mesh_3d", "primary_particle_mesh", "check_axisymmetric", "mesh_from_params",
           "build_reference_meshes", "REFERENCE_RECIPE", "mesh_from_image", "read_mesh", "place_pores",
           "microstructure_mesh", "register", "run"]
