package backup

const sysRenameat2 = 316
