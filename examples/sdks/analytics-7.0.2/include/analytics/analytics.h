#ifndef ACME_ANALYTICS_H
#define ACME_ANALYTICS_H
/* Acme Analytics 7: events with one property. */
int analytics_track_with(const char *event, const char *property);
int analytics_version_major(void);
#endif
