package backup

const sysRenameat2 = 276
