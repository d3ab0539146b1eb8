// The extension's library: its magic block, and _PG_init calling each
// module's init (each defines its own settings and callbacks).
#include "pg.hpp"

extern "C" {
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void) {
    family::pg::check_init();
    family::pg::person_triggers_init();
    family::pg::kinship_init();
    MarkGUCPrefixReserved("family");
}
}
