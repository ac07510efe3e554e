#ifndef VOLUMED_CLIBPQ_SHIM_H
#define VOLUMED_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
