/*  services.h - each service's contribution to the method table.
 *
 *  A service file defines one array of secpol_method_spec_t and its count;
 *  method_table.c joins them. Adding a service = one array here and one
 *  line in method_table.c.
 */
#ifndef SECPOL_SERVICES_H_INCLUDED
#define SECPOL_SERVICES_H_INCLUDED

#include "method_table.h"

extern const secpol_method_spec_t secpol_health_methods[];
extern const size_t secpol_health_methods_count;

extern const secpol_method_spec_t secpol_test_clock_methods[];
extern const size_t secpol_test_clock_methods_count;

extern const secpol_method_spec_t secpol_policy_methods[];
extern const size_t secpol_policy_methods_count;

#endif
