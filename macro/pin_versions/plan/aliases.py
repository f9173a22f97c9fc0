"""The ``Alias`` option (issue 15): for each state machine that asks for one, a retained
``AWS::StepFunctions::StateMachineVersion`` (plan/machine_versions.py) and an
``AWS::StepFunctions::StateMachineAlias`` ``<SM>Alias<Name>`` whose ``DeploymentPreference``
shifts new executions to that version; callers moved to the alias where ``MoveCallers``
asks, and their roles granted ``states:StartExecution`` the way Step Functions checks it.

AWS facts (docs/design.md "Alias" lists them with their sources):

- ``Ref`` of a ``StateMachineAlias`` is the alias ARN (``stateMachine:NAME:ALIAS``); Step
  Functions authorises StartExecution of a version or alias against the *unqualified* state
  machine ARN, narrowed by the ``states:StateMachineQualifier`` condition key
  (https://docs.aws.amazon.com/step-functions/latest/dg/auth-version-alias.html). A grant on
  the alias ARN alone allows nothing (aws/serverless-application-model#3720).
- SAM names a state machine's alias ``<SM>Alias<AutoPublishAlias>`` and its version
  ``<SM>Version`` (samtranslator/model/stepfunctions/generators.py, ``_construct_alias``,
  ``_construct_version``); with ``UseAliasAsEventTarget`` its event roles are granted on the
  alias ARN (the bug above).
- An alias update with a ``DeploymentPreference`` shifts traffic inside the stack update (the
  resource's update handler may run 2160 minutes); an alarm in ALARM fails the update and
  CloudFormation rolls the alias back. Resources with ``DeletionPolicy: Retain`` that the
  failed update created are kept unless the update asked for ``RetainExceptOnCreate``.

Plans only: ``AliasPlan`` is applied by rewrite.apply_aliases.
"""

from __future__ import annotations

from typing import Any

from ..alias_options import AliasOption, read_resource_alias
from ..inventory import Inventory, Resource
from ..options import Options
from ..report import AliasEntry, Diagnostic, Report, format_path
from .alias_callers import Callers
from .alias_grants import fix_alias_grants
from .alias_model import (
    RETAIN,
    STATE_MACHINE_ALIAS,
    AliasPlan,
    MachineAlias,
    as_bool,
    routes_to,
    too_long,
)
from .alias_sam import SAM_EVENTS, event_type, sam_event_grant, sam_event_kind
from .machine_versions import machine_version_id, machine_version_resource
from .model import MAX_LOGICAL_ID

ALARM_TYPES = frozenset({"AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"})


def _check_alarms(
    inventory: Inventory, option: AliasOption, path: str, errors: list[Diagnostic]
) -> None:
    """An alarm written ``!Ref X`` where X is a resource of this template that is not a
    CloudWatch alarm (PV930): its Ref is not an alarm name, and CloudWatch treats an unknown
    name as OK, so the shift would never roll back."""
    for index, alarm in enumerate(option.alarms):
        target = alarm.get("Ref") if type(alarm) is dict and len(alarm) == 1 else None
        rtype = inventory.types.get(target) if isinstance(target, str) else None
        if rtype is not None and rtype not in ALARM_TYPES:
            errors.append(
                Diagnostic(
                    "PV930",
                    f"{path}.DeploymentPreference.Alarms[{index}]",
                    f"is !Ref {target}, a {rtype}, not a CloudWatch alarm (an unknown name "
                    "never goes to ALARM, so the shift would never roll back); name an "
                    "AWS::CloudWatch::Alarm or CompositeAlarm",
                )
            )


def alias_option_of(machine: Resource, options: Options, errors: list[Diagnostic]) -> Any:
    """The option that applies to ``machine``: its own (which wins), else the template's;
    None when it has none or opts out, or when its own is invalid (PV930 appended)."""
    own = read_resource_alias(machine.resource, f"Resources.{machine.logical_id}", errors)
    if own is True:
        return options.alias
    return own or None


def caller_alias(inventory: Inventory, options: Options, child: str) -> str | None:
    """The alias a parent state machine's ``startExecution`` Task should start instead of
    ``child``'s version (the nested-state-machine kind's hook): ``<child>Alias<Name>`` when
    the child's option has ``MoveCallers.StepFunctions``; None otherwise. Invalid options are
    reported by ``plan_aliases``, not here."""
    machine = inventory.state_machines.get(child)
    if machine is None or machine.skip:
        return None
    option = alias_option_of(machine, options, [])
    if not isinstance(option, AliasOption) or "StepFunctions" not in option.move_callers:
        return None
    name = option.name
    if machine.sam:
        declared = machine.properties.get("AutoPublishAlias")
        name = declared if isinstance(declared, str) else name
    return f"{child}Alias{name}"


def plan_aliases(
    inventory: Inventory,
    options: Options,
    errors: list[Diagnostic],
    report: Report,
    taken: set[str],
) -> AliasPlan:
    """Plan every state machine's alias (errors appended to ``errors``: PV930-PV932)."""
    plan = AliasPlan()
    machines: dict[str, MachineAlias] = {}
    if options.alias is not None:
        _check_alarms(inventory, options.alias, "Metadata.PinVersions.Alias", errors)
    for logical_id, rtype in inventory.types.items():
        resource = inventory.resources[logical_id]
        if logical_id in inventory.state_machines:
            machine = inventory.state_machines[logical_id]
            option = alias_option_of(machine, options, errors)
            if option is not None and _has_own_alias(resource):
                where = f"Resources.{logical_id}.Metadata.PinVersions.Alias"
                _check_alarms(inventory, option, where, errors)
            if option is not None and not machine.skip:
                machines[logical_id] = MachineAlias(machine, option)
        elif _has_own_alias(resource):
            errors.append(
                Diagnostic(
                    "PV932",
                    f"Resources.{logical_id}.Metadata.PinVersions.Alias",
                    f"is set on a resource of type {rtype}; an alias is for state machines "
                    "(AWS::StepFunctions::StateMachine, AWS::Serverless::StateMachine): move "
                    "it to one, or to the template's Metadata.PinVersions",
                )
            )
    if not machines:
        fix_alias_grants(inventory, plan, report)
        return plan
    planner = _Planner(inventory, plan, errors, report, taken)
    for entry in machines.values():
        if entry.resource.sam:
            planner.before_sam(entry)
        else:
            planner.plain(entry)
    covered = fix_alias_grants(inventory, plan, report)
    callers = Callers(inventory, plan, errors, report, taken, covered)
    callers.versions = {machine: version for machine, (version, _) in planner.version.items()}
    callers.kind_grants = options.kind_enabled("state-machine")
    callers.alias_owners = {m.alias: name for name, m in machines.items() if m.alias}
    for entry in machines.values():
        if entry.alias:
            callers.move(entry)
    for entry in machines.values():
        if entry.alias:
            report.aliases.append(planner.entry(entry))
    return plan


def _has_own_alias(resource: Any) -> bool:
    metadata = resource.get("Metadata") if type(resource) is dict else None
    ours = metadata.get("PinVersions") if type(metadata) is dict else None
    return type(ours) is dict and "Alias" in ours


class _Planner:
    def __init__(
        self,
        inventory: Inventory,
        plan: AliasPlan,
        errors: list[Diagnostic],
        report: Report,
        taken: set[str],
    ) -> None:
        self.inventory = inventory
        self.plan = plan
        self.errors = errors
        self.report = report
        self.taken = taken
        self.version: dict[str, tuple[str, bool]] = {}  # machine -> (version, created)
        self.source: dict[str, str] = {}  # machine -> created | sam | existing

    # -- the alias and its version ---------------------------------------------------------

    def before_sam(self, entry: MachineAlias) -> None:
        """A SAM state machine: SAM makes the version and alias from ``AutoPublishAlias``
        and ``DeploymentPreference``; the macro sets them (or reuses the user's)."""
        machine = entry.resource
        logical_id = machine.logical_id
        properties = machine.properties
        declared = properties.get("AutoPublishAlias")
        wanted = entry.option.deployment_preference(None)
        del wanted["StateMachineVersionArn"]
        path = ("Resources", logical_id, "Properties", "AutoPublishAlias")
        if declared is not None:
            if not isinstance(declared, str):
                self.report.warn(
                    "PV151",
                    path,
                    "SAM's AutoPublishAlias is not literal text; the macro cannot name its "
                    "alias, so the Alias option is not applied to this state machine",
                )
                return
            entry.name = declared
            entry.preference = properties.get("DeploymentPreference") or {}
            if declared != entry.option.name or properties.get("DeploymentPreference") != wanted:
                self.report.warn(
                    "PV151",
                    path,
                    f"SAM's AutoPublishAlias {declared!r} and its DeploymentPreference are used "
                    "as written; the Alias option's name and DeploymentPreference are not "
                    "applied to this state machine (its MoveCallers are)",
                )
            self.source[logical_id] = "sam"
        else:
            if "DeploymentPreference" in properties:
                self.report.warn(
                    "PV151",
                    ("Resources", logical_id, "Properties", "DeploymentPreference"),
                    "SAM's DeploymentPreference is used as written (the Alias option's is not)",
                )
                wanted = properties["DeploymentPreference"]
                entry.preference = wanted
            self.plan.properties.setdefault(logical_id, {}).update(
                {"AutoPublishAlias": entry.option.name, "DeploymentPreference": wanted}
            )
            self.source[logical_id] = "sam"
        entry.alias = f"{logical_id}Alias{entry.name}"
        self.version[logical_id] = (f"{logical_id}Version", True)
        self._sam_events(entry, as_bool(properties.get("UseAliasAsEventTarget")))

    def _sam_events(self, entry: MachineAlias, use_alias: bool) -> None:
        """SAM's event sources, which SAM makes after the macro: with
        ``UseAliasAsEventTarget`` (the user's, or set here when ``MoveCallers`` asks for every
        event's kind) they start the alias, and SAM grants their roles on the alias ARN,
        which allows nothing (aws/serverless-application-model#3720): each role SAM makes,
        ``<SM><Event>Role`` (samtranslator model/stepfunctions/events.py,
        ``_construct_role``), gets the grant Step Functions checks. Otherwise the events the
        option asks to move stay on the unqualified ARN (PV152)."""
        machine = entry.resource
        logical_id = machine.logical_id
        events = machine.properties.get("Events")
        if type(events) is not dict or not events:
            return
        kinds = {name: sam_event_kind(event) for name, event in events.items()}
        wanted = entry.option.move_callers
        if not use_alias and all(kind is not None and kind in wanted for kind in kinds.values()):
            self.plan.properties.setdefault(logical_id, {})["UseAliasAsEventTarget"] = True
            use_alias = True
        for name, kind in kinds.items():
            where = ("Resources", logical_id, "Properties", "Events", name)
            if use_alias and kind is not None:
                sam_event_grant(entry, str(name), self.plan, self.taken, self.errors)
                entry.callers.append(format_path(where))
            elif use_alias or SAM_EVENTS.get(event_type(events[name]) or "") in wanted:
                self.report.warn(
                    "PV152",
                    where,
                    "stays on the unqualified state machine ARN, or is denied if SAM points it "
                    "at the alias: SAM makes this event's resources after the macro has run "
                    "(and grants its own role on the alias ARN, which Step Functions never "
                    "checks: aws/serverless-application-model#3720); list PinVersions after "
                    "AWS::Serverless-2016-10-31 under Transform to move it to the alias",
                )

    def plain(self, entry: MachineAlias) -> None:
        """A CloudFormation state machine (or one SAM already expanded)."""
        machine = entry.resource
        logical_id = machine.logical_id
        resources = self.inventory.resources
        version, create = machine_version_id(resources, logical_id)
        if create:
            if len(version) > MAX_LOGICAL_ID:
                self.errors.append(too_long(version, logical_id))
                return
            self.plan.added.setdefault(logical_id, []).append(
                (version, machine_version_resource(logical_id, machine.condition))
            )
            self.taken.add(version)
        else:
            self._keep_version(version, logical_id)
        self.version[logical_id] = (version, create)
        existing = self._existing_alias(version, entry.option.name)
        if existing is not None:
            alias_id, name = existing
            entry.alias, entry.name = alias_id, name
            written = resources[alias_id].get("Properties", {}).get("DeploymentPreference")
            # No DeploymentPreference: a fixed RoutingConfiguration, which shifts nothing.
            entry.preference = written if written is not None else {"Type": "ROUTING"}
            self.source[logical_id] = "existing"
            self.plan.attributes.setdefault(alias_id, {}).update(RETAIN)
            if name != entry.option.name:
                self.report.warn(
                    "PV151",
                    ("Resources", alias_id),
                    f"this state machine already has alias {name!r} on its version; it is "
                    f"reused (retained on both policies) instead of adding {entry.option.name!r}",
                )
            return
        alias_id = f"{logical_id}Alias{entry.option.name}"
        if alias_id in self.taken:
            self.errors.append(
                Diagnostic(
                    "PV931",
                    f"Resources.{alias_id}",
                    f"is taken by another resource, so state machine {logical_id}'s alias "
                    f"{entry.option.name!r} cannot have its logical ID; rename that resource or "
                    "choose another alias Name",
                )
            )
            return
        if len(alias_id) > MAX_LOGICAL_ID:
            self.errors.append(too_long(alias_id, logical_id))
            return
        alias: dict[str, Any] = {"Type": STATE_MACHINE_ALIAS, **RETAIN}
        if machine.condition is not None:
            alias["Condition"] = machine.condition
        alias["Properties"] = {
            "Name": entry.option.name,
            "DeploymentPreference": entry.option.deployment_preference({"Ref": version}),
        }
        self.plan.added.setdefault(logical_id, []).append((alias_id, alias))
        self.taken.add(alias_id)
        entry.alias = alias_id
        self.source[logical_id] = "created"

    def _keep_version(self, version: str, machine: str) -> None:
        """An existing version (SAM's, the user's): retained on both policies, and
        republished only on a new revision (contract14.md)."""
        resource = self.inventory.resources[version]
        wanted = {k: v for k, v in RETAIN.items() if resource.get(k) != v}
        if wanted:
            self.plan.attributes.setdefault(version, {}).update(wanted)
        properties = resource.get("Properties")
        if type(properties) is dict and "StateMachineRevisionId" not in properties:
            self.plan.properties.setdefault(version, {})["StateMachineRevisionId"] = {
                "Fn::GetAtt": [machine, "StateMachineRevisionId"]
            }

    def _existing_alias(self, version: str, wanted: str) -> tuple[str, str] | None:
        """An in-template alias whose DeploymentPreference (or RoutingConfiguration) routes
        to ``version``: (logical ID, Name), the one named ``wanted`` first."""
        found: list[tuple[str, str]] = []
        for logical_id, rtype in self.inventory.types.items():
            if rtype != STATE_MACHINE_ALIAS:
                continue
            properties = self.inventory.resources[logical_id].get("Properties")
            if type(properties) is not dict or not routes_to(properties, version):
                continue
            name = properties.get("Name")
            found.append((logical_id, name if isinstance(name, str) else ""))
        found.sort(key=lambda pair: pair[1] != wanted)
        return found[0] if found else None

    def entry(self, entry: MachineAlias) -> AliasEntry:
        machine = entry.resource.logical_id
        version, created = self.version[machine]
        option = entry.option
        kind, percentage, interval, alarms = (
            option.type,
            option.percentage,
            option.interval,
            option.alarms,
        )
        written = entry.preference
        if written is not None:
            written = written if type(written) is dict else {}
            kind = str(written.get("Type", "ALL_AT_ONCE"))
            percentage, interval = written.get("Percentage"), written.get("Interval")
            listed = written.get("Alarms")
            alarms = tuple(listed) if isinstance(listed, list) else ()
        return AliasEntry(
            machine,
            entry.alias,
            entry.name,
            version,
            created,
            kind,
            percentage,
            interval,
            alarms,
            self.source[machine],
            tuple(entry.callers),
            tuple(entry.grants),
        )


__all__ = [
    "AliasPlan",
    "alias_option_of",
    "caller_alias",
    "plan_aliases",
]
