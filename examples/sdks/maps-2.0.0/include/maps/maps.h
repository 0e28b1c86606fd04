#ifndef ACME_MAPS_H
#define ACME_MAPS_H
/* Acme Maps: the length of a route through n points (micro-degrees). */
long maps_route_length_m(const long *lat, const long *lon, int n);
#endif
