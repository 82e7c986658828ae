/*  services.h - the one list of the services secpold serves.
 *
 *  Each X (name) is a secpol_service_t called secpol_service_<name>,
 *  defined with SECPOL_SERVICE in the service's own folder (service.h).
 *  Adding a service adds one line here; see docs/HACKING.md.
 */
#ifndef SECPOL_SERVICES_H_INCLUDED
#define SECPOL_SERVICES_H_INCLUDED

#define SECPOL_SERVICES(X)                                                                         \
    X (health)                                                                                     \
    X (test_clock)                                                                                 \
    X (policy)

#endif
