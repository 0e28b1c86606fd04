#include "geo/geo.h"
#include "analytics/analytics.h"

static long absolute(long v) { return v < 0 ? -v : v; }

long geo_distance_m(long lat1, long lon1, long lat2, long lon2) {
  analytics_track("geo.distance");
  /* Manhattan distance, 0.111 m per micro-degree: good enough for an example. */
  return (absolute(lat1 - lat2) + absolute(lon1 - lon2)) / 9;
}
