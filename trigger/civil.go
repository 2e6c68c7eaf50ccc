package trigger

// Civil (wall-clock) time arithmetic on plain integers.
//
// Cron matching works on wall-clock fields and must not allocate, so wall
// times are kept as "civil seconds": seconds since 1970-01-01T00:00:00 as if
// the wall clock were UTC. A zone's offset turns civil seconds into an
// instant; resolving gaps and overlaps is zone.go's job, not this file's.

const (
	secondsPerMinute = 60
	secondsPerHour   = 3600
	secondsPerDay    = 86400
)

// daysFromCivil returns the number of days since 1970-01-01 of the proleptic
// Gregorian date y-m-d (Howard Hinnant's days_from_civil).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400 // [0, 399]
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11]
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

// weekdayFromDays returns the weekday (0 = Sunday) of a day count from
// daysFromCivil. 1970-01-01 was a Thursday.
func weekdayFromDays(z int64) int {
	w := (z + 4) % 7
	if w < 0 {
		w += 7
	}
	return int(w)
}

func isLeap(y int) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

// daysIn returns the number of days of month m in year y.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// civilSeconds builds civil seconds from wall-clock fields.
func civilSeconds(y, mo, d, h, mi, s int) int64 {
	return daysFromCivil(y, mo, d)*secondsPerDay + int64(h*secondsPerHour+mi*secondsPerMinute+s)
}

// splitCivil returns the wall-clock fields of civil seconds c.
func splitCivil(c int64) (y, mo, d, h, mi, s int) {
	days := c / secondsPerDay
	rem := c % secondsPerDay
	if rem < 0 {
		rem += secondsPerDay
		days--
	}
	y, mo, d = civilFromDays(days)
	h = int(rem / secondsPerHour)
	mi = int(rem % secondsPerHour / secondsPerMinute)
	s = int(rem % secondsPerMinute)
	return
}

// isoWeek returns the ISO 8601 week number (1-53) of the date y-m-d.
func isoWeek(y, m, d int) int {
	z := daysFromCivil(y, m, d)
	wd := weekdayFromDays(z)
	if wd == 0 {
		wd = 7 // ISO: Monday = 1 … Sunday = 7
	}
	thursday := z - int64(wd) + 4 // the Thursday of this ISO week decides its year
	ty, _, _ := civilFromDays(thursday)
	jan1 := daysFromCivil(ty, 1, 1)
	return int((thursday-jan1)/7) + 1
}
