"""Peak memory of a command, measured from outside it.

The wrapper runs the command and writes its peak RSS (kB) from
RUSAGE_CHILDREN. Linux carries the peak of the process that forks a child
into the child's own figure, so the test's process (pytest, tens of MB) must
not be the command's parent: the wrapper is.
"""

from __future__ import annotations

MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)
