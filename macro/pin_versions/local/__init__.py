"""The command line's package: everything ``pin-versions`` runs on this machine and the Lambda
never imports: YAML/JSON in and out with line marks (``yaml_io``), SAM offline
(``sam_local``), ``sam package``-style packaging (``packaging``), ``explain`` / ``plan``
rendering (``explain``, ``lifecycle``), the checks behind ``check`` and the cfn-lint rules
(``checks``), StackSet generation (``stackset``) and the command line itself (``cli``).

It may use pyyaml, aws-sam-translator, cfn-lint and boto3; it calls the core only through
what the core exports. macro/Makefile leaves this package out of the Lambda bundle.
"""
