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
# may have several `&` terms) matches when the User-Agent contains b and not a. Spaces inside
# a pattern count, a trailing one too (`msie `, `@ android `).
# DeviceFixtureTests (Tests/BeaconTests/DeviceTests.swift) measures the rules on Matomo's device-detector
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
mac os/ => macOS @ mac os/
mac_powerpc => macOS
os=mac => macOS @ os=mac 
darwin/ & macbook => macOS
darwin/ & imac => macOS
darwin/ & macmini => macOS
darwin/ & macpro => macOS
darwin/ & x86_64 => macOS
linux => Linux
freebsd => Unix
symbian => Symbian
blackberry => BlackBerry
bb10 => BlackBerry

[device]
!android & tablet pc => desktop
ipad => tablet
tablet => tablet
# Android tablets by model token (Matomo reads models from its device database; these are
# the frequent ones in its fixtures), before `mobile`: many tablets' browsers say Mobile.
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
android & ; opti => tablet
android & ; plan => tablet
android & pmt3 => tablet
android & pmt4 => tablet
android & ; m-mp => tablet
android & ezee => tablet
android & ; impa => tablet
android & ipla => tablet
android & dslide => tablet
android & bq-7 => tablet
android & bq-1 => tablet
android & mid7 => tablet
android & mid1 => tablet
android & midc => tablet
android & mid8 => tablet
android & mid- => tablet
android & rct6 => tablet
android & x-pad => tablet
android & opd2 => tablet
android & mfc1 => tablet
android & ursus => tablet
android & lenco => tablet
android & tpc- => tablet
android & b1-7 => tablet
android & b3-a => tablet
android & tm-7 => tablet
android & tm-9 => tablet
android & tb-x => tablet
android & tf-m => tablet
android & ideatab => tablet
android & numy => tablet
android & tab1 => tablet
android & mita => tablet
android & m-sp => tablet
android & rc07 => tablet
android & rc97 => tablet
android & cw-v => tablet
android & kindle => tablet
android & kfa => tablet
android & kfm => tablet
android & kfs => tablet
android & kft => tablet
android & kfo => tablet
android & kfg => tablet
android & kfk => tablet
android & kfd => tablet
android & kfr => tablet
android & kfq => tablet
# Android phones whose User-Agent lacks `Mobile` (an app's Dalvik agent, phone models).
android & dalvik/ => smartphone
android & sm-g => smartphone
android & sm-j => smartphone
android & sm-a => smartphone
android & sm-n => smartphone
android & sm-s => smartphone
android & sm-m => smartphone
android & sm-e => smartphone
android & lm- => smartphone
android & lg- => smartphone
android & moto => smartphone
android & pixel => smartphone
android & vivo => smartphone
android & oneplus => smartphone
android & tecno => smartphone
android & itel => smartphone
android & infinix => smartphone
android & redmi => smartphone
android & sony => smartphone
android & xperia => smartphone
android & htc => smartphone
android & nokia => smartphone
android & huawei => smartphone
android & honor => smartphone
android & oppo => smartphone
android & realme => smartphone
android & cph => smartphone
android & rmx => smartphone
android & mito => smartphone
android & polytron => smartphone
android & blade => smartphone
android & zte => smartphone
android & alcatel => smartphone
android & verykool => smartphone
android & twist => smartphone
android & everco => smartphone
android & yu50 => smartphone
android & helio => smartphone
android & iphone => smartphone
iphone => smartphone
ipod => smartphone
windows phone => smartphone
# Then `Mobile` means a phone, and Android without it a tablet.
mobile => smartphone
android => tablet
# Desktops and feature phones.
windows nt => desktop
macintosh => desktop
x11; cros => desktop
linux => desktop
windows mobile => smartphone
windows ce => smartphone
midp => smartphone
up.browser => smartphone
nokia => smartphone
symbian => smartphone
series60 => smartphone
blackberry => smartphone
bb10 => smartphone
obigo => smartphone
windows => desktop
win98 => desktop
win95 => desktop
mac_powerpc => desktop
x11 => desktop
amiga => desktop
openvms => desktop
darwin/ & x86_64 => desktop
macbook => desktop
imac => desktop
macmini => desktop
macpro => desktop
quicktime => desktop
beos => desktop
haiku => desktop
freebsd => desktop
mac os/ => desktop
goggalaxyclient => desktop

"""#
