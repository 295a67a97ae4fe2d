from store_associate.cli import main

main()
