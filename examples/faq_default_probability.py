"""FAQ: the experiment seems to run but zero faults are fired.

"Check ``FaultConfig.probability``. If it is ``0.0``, faults will never fire. The default is
``1.0`` (always fire)." This file shows both halves of that answer.
"""

from aumai_chaos import ChaosError, FaultConfig, FaultInjector, FaultType, chaos_monkey

fault = FaultConfig(fault_type=FaultType.error)
print(f"default probability: {fault.probability}")

injector = FaultInjector()
fired = sum(injector.should_inject(fault) for _ in range(1000))
print(f"default: should_inject() was true {fired}/1000 times")

never = FaultConfig(fault_type=FaultType.error, probability=0.0)
fired = sum(injector.should_inject(never) for _ in range(1000))
print(f"probability=0.0: should_inject() was true {fired}/1000 times")


@chaos_monkey(fault_type=FaultType.error)
def call_tool() -> str:
    return "tool output"


failures = 0
for _ in range(100):
    try:
        call_tool()
    except ChaosError:
        failures += 1
print(f"@chaos_monkey with no probability: {failures}/100 calls failed")
