#include "analytics/analytics.h"

static int tracked;

int analytics_track_with(const char *event, const char *property) { return (event && property) ? ++tracked : tracked; }
int analytics_version_major(void) { return 7; }
