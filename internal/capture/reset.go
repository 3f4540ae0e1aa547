package capture

import "syscall"

var errConnReset error = syscall.ECONNRESET
