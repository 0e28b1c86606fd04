#ifndef ACME_GEO_H
#define ACME_GEO_H
/* Acme Geo: distances in metres between two points (latitude/longitude in micro-degrees). */
long geo_distance_m(long lat1, long lon1, long lat2, long lon2);
#endif
