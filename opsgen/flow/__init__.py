"""The flow: the only part of opsgen that composes the others.

A request becomes a script (:mod:`opsgen.generator`), a script gets findings
(:mod:`opsgen.validators`) and a run report (:mod:`opsgen.sandbox`), and both become
evidence in the store (:mod:`opsgen.store`), always through the stages declared in
:mod:`opsgen.flow.sequences`. The parts below know nothing of each other; the review,
export and runbook packages and the CLI use this package, never the other way round.

Public API::

    from opsgen.flow.new import new              # opsgen new, as a function
    from opsgen.flow.record import import_script, revise, recheck
    from opsgen.flow.checks import evaluate      # lint + dry-run -> Evidence
    from opsgen.flow.sequences import NEW, IMPORT, CHECKS
"""
