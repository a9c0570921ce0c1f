// Generated from devices.txt by `CLICKPATH_REGENERATE=1 swift test --filter DeviceRuleListTests`. Do not edit.
// A test fails when this copy differs from devices.txt.
let embeddedDeviceList = #"""
# Clickpath device rules: how the collector derives a web beacon's browser, OS and device type
# from its User-Agent when the beacon's `device` lacks them (Sources/Beacon/README.md,
# "Device from the User-Agent"). No regular expressions: plain substrings, matched
# case-insensitively; in each section the first rule, in file order, whose pattern occurs
# anywhere in the User-Agent wins.
#
# Format: `[browser]`, `[os]` and `[device]` start a section; every other non-empty line is
# `pattern => value`. In [browser] and [os] the value is the family, and the version is the run
# of digits, dots and underscores right after the pattern (underscores read as dots), if any;
# `pattern => family @ other` takes the version after the pattern `other` instead. In [device]
# the value is the device type. A pattern starting with `!` is a guard: `!a & b => x` (rules
# may have several `&` terms) matches when the User-Agent contains b and not a.
# Tests/BeaconTests/DeviceFixtureTests.swift measures the rules on Matomo's device-detector
# fixtures (Tests/BeaconTests/Data/device-detector/devices.tsv.gz). After editing, regenerate
# the embedded copy with `CLICKPATH_REGENERATE=1 swift test --filter DeviceRuleListTests`.

[browser]
edge/ => Edge
edg/ => Edge
edga/ => Edge
edgios/ => Edge
opr/ => Opera
opt/ => Opera
opios/ => Opera
opera mini/ => Opera
opera mobi => Opera @ version/
opera/ => Opera @ version/
yabrowser/ => Yandex
yasearchbrowser/ => Yandex
ucbrowser/ => UC Browser
ucweb/ => UC Browser
ucturbo/ => UC Browser
samsungbrowser/ => Samsung Internet
xiaomi/miuibrowser/ => Mi Browser
miuibrowser/ => Mi Browser
mqqbrowser/ => QQ Browser
huaweibrowser/ => Huawei Browser Mobile
quark/ => Quark
vivobrowser/ => vivo Browser
phx/ => Phoenix Browser
mzbrowser/ => Meizu Browser
heytapbrowser/ => HeyTapBrowser
silk/ => Mobile Silk
puffin/ => Puffin Web Browser
baidubrowser/ => Baidu Browser
flyflow/ => Baidu Browser
alohabrowser/ => Aloha Browser
sogoumobilebrowser/ => Sogou Mobile Browser
iemobile/ => Internet Explorer
msie  => Internet Explorer
trident/7 => Internet Explorer @ rv:
fxios/ => Firefox
firefox/ => Firefox
crios/ => Chrome
chrome/ => Chrome
android & version/ => Android Browser @ android 
android & safari/ => Android Browser @ android 
dalvik/ => Android Browser @ android 
version/ & safari/ => Safari @ version/
mobile/ & iphone => Safari @ os 

[os]
windows phone => Windows Mobile @ windows phone 
windows mobile => Windows Mobile @ windows mobile 
windows ce => Windows Mobile
harmonyos => Android
android => Android @ android 
windows nt => Windows @ windows nt 
windows => Windows
x11; cros => Chrome OS @ cros x86_64 
iphone os => iOS @ iphone os 
ipad => iOS @ cpu os 
iphone => iOS @ cpu os 
ipod => iOS @ cpu os 
mac os x => macOS @ mac os x 
macintosh => macOS
linux => Linux
freebsd => Unix
symbian => Symbian
blackberry => BlackBerry
bb10 => BlackBerry

[device]
ipad => tablet
tablet => tablet
android & tab => tablet
android & sm-t => tablet
android & sm-x => tablet
android & sm-p => tablet
android & tb- => tablet
android & gt-p => tablet
android & gt-n8 => tablet
android & sgp => tablet
android & mediapad => tablet
android & yoga => tablet
android & pocketbook => tablet
android & -w09 => tablet
android & -w19 => tablet
android & -al09 => tablet
android & bah => tablet
android & kob => tablet
android & ags => tablet
android & jdn => tablet
android & pmp => tablet
android & ; t1 => tablet
android & nexus 7 => tablet
android & nexus 9 => tablet
android & nexus 10 => tablet
android & !mobile & pad => tablet
iphone => smartphone
ipod => smartphone
windows phone => smartphone
mobile => smartphone
android => tablet
windows nt => desktop
macintosh => desktop
x11; cros => desktop
linux => desktop

"""#
