#ifndef CLICKPATH_CSQLITE_SHIM_H
#define CLICKPATH_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro Swift cannot import: it tells SQLite to copy bound values.
static inline sqlite3_destructor_type clickpath_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}
#endif
