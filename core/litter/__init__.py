"""The litter planner's genetics: loci, parents' coats and genotypes, the cross, kitten names.

``core.services.litter.plan_litter`` is the one call pages, the API and jobs make.
"""
