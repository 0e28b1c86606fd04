#include "maps/maps.h"
#include "geo/geo.h"

long maps_route_length_m(const long *lat, const long *lon, int n) {
  long total = 0;
  for (int i = 1; i < n; i++) total += geo_distance_m(lat[i - 1], lon[i - 1], lat[i], lon[i]);
  return total;
}
